"""Dataset scanner for `dozor scan`: personal data per column of CSV, TSV, JSON Lines
and Parquet files (see `dozor.scan.data.scan`)."""
