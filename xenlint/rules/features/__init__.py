"""XL4xx: the FEATURES string and the SUPPORTED_FEATURES bitmap."""
