"""Stage 3, the site: artifacts/ + site_template/ -> dist/, ready for GitHub Pages. The entry is site.py."""
