"""Quality: contracts' expectations compiled to SQL, gates, contract checks of files, typed results."""
