"""The knowledge base: YAML in `knowledge/`, validated by `schema`, loaded and cached by `loader`."""

from bot.core.knowledge import Knowledge
from bot.kb.errors import KnowledgeError
from bot.kb.loader import KnowledgeReport, check_knowledge, knowledge_dir, load_knowledge

__all__ = [
    "Knowledge",
    "KnowledgeError",
    "KnowledgeReport",
    "check_knowledge",
    "knowledge_dir",
    "load_knowledge",
]
