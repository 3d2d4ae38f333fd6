"""Training and evaluation: window tables, grouped cross-validation, reports, clustering."""
