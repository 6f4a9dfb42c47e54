"""`kdbgtest init`: a starter for another repository (see `files.write_starter`)."""
