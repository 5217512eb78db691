"""Data retention: old rows archived to S3 as Parquet, verified, and only then deleted."""
