"""Renderers: turning store contents into files and tables people read."""
