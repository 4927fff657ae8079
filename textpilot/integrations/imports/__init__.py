"""CSV import of customers: upload, column mapping, validation, chunked resumable import."""
