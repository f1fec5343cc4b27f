"""`python -m bot.cli`: the `occ-bot` command."""

from bot.cli.main import main

raise SystemExit(main())
