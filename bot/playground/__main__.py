"""`python -m bot.playground`: the real bot, a loopback Discord and a page that acts like Discord."""

import sys

from bot.playground.app import main

sys.exit(main())
