from webbarchive.cli import main

raise SystemExit(main())
