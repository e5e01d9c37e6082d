"""Renderers: they only format results they are given; they never query anything."""
