"""Reading: turn a file (bare ELF, gzip-wrapped ELF, bzImage) into the immutable `Image` model."""
