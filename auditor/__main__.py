from auditor import startup

startup.hold_gc()  # from the first import on (see auditor.startup); main() holds it otherwise

from auditor.cli import main  # noqa: E402

main()
