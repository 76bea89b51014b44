"""GridPatrol's sync core: op validation, per-device ordering, three-way merge and
the incident state machine.

Pure Python on purpose: no Flask and no SQL, so the rules that decide what happens to a
field worker's edits can be read, tested and fuzzed without a server.
"""
