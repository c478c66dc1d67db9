from salesorders.cli import main

raise SystemExit(main())
