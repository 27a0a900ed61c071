"""Documents -> chunks -> vectors -> store -> retrieval."""
