"""Chain data as values: event signatures, log and header decoding. No I/O here."""
