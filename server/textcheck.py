"""Text that PostgreSQL cannot store: a NUL character, anywhere in a request."""

from __future__ import annotations

from typing import Any

# Request bodies are already nested at most 1,024 deep by the JSON parser; this walk is
# iterative so no depth makes it recurse.


def find_nul(value: Any) -> str | None:
    """The dotted path of the first string or key holding a NUL character, or None.

    >>> find_nul({"note": "ok", "data": {"tags": ["a", "b\\x00"]}})
    'data.tags.1'
    >>> find_nul({"bad\\x00key": 1})
    'bad\\x00key'
    >>> find_nul("\\x00") , find_nul({"a": [1, 2.5, None, True]})
    ('', None)
    """
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return path
        elif isinstance(item, dict):
            for key, sub in item.items():
                sub_path = f"{path}.{key}" if path else str(key)
                if isinstance(key, str) and "\x00" in key:
                    return sub_path
                stack.append((sub_path, sub))
        elif isinstance(item, list | tuple):
            stack.extend((f"{path}.{i}" if path else str(i), sub)
                         for i, sub in reversed(list(enumerate(item))))
    return None
