from bench.http import main

raise SystemExit(main())
