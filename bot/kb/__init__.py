"""The knowledge base: YAML in `knowledge/`, validated by `schema`, loaded and cached by `loader`."""

from bot.core.knowledge import Knowledge
from bot.kb.loader import KnowledgeReport, check_knowledge, knowledge_dir, load_knowledge
from bot.kb.schema import KnowledgeError

__all__ = [
    "Knowledge",
    "KnowledgeError",
    "KnowledgeReport",
    "check_knowledge",
    "knowledge_dir",
    "load_knowledge",
]
