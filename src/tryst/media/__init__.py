"""Images: decode, strip metadata, classify, hash (PDQ) and match against hash banks."""
