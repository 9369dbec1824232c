"""netexplain: explains the addresses, ports, URLs and socket errors people paste into chat.

Where things live (one hop each):
- `bot.core.extract`  finds addresses, ports, URLs, networks, errors and terms in text, with spans;
- `bot.core.classify` classifies them (e.g. where 62893 is classified: `classify_port`);
- `bot.core.compose`  writes the `Answer` from knowledge entries;
- `bot.core.scan`     finds the lines of a whole log that have findings, a block at a time;
- `bot.kb`            loads, validates and indexes the YAML knowledge base;
- `bot.client`, `bot.cogs`, `bot.render`  the Discord adapter; `bot.cli` the command line.
"""

__version__ = "0.1.0"
