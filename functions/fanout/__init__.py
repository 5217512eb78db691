"""The alert fan-out (issue 9 section 2): every source into one alert, routed by severity."""
