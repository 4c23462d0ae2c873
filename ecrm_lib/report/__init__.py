"""What a reader sees: safe display of tables and prose, figures, HTML rendering, the executive summary."""
