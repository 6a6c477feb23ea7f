"""Training, data preparation and export of radphi models (imports torch lazily; never imported by ``radphi``)."""
