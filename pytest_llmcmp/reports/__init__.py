"""The reports of a run: terminal summary lines, the Markdown summary, the self-contained HTML page.

Each report is a function of the run's results (plain strings, no pytest); the session writes them through one list
of writers (see ``pytest_llmcmp.session``).
"""
