from radphi.cli import main

raise SystemExit(main())
