from simopt.cli import main

raise SystemExit(main())
