"""Trading reports (daily, weekly, monthly): figures from the journal, Markdown, JSON, charts."""
