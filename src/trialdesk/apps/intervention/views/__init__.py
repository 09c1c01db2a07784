"""IMR delivery pages. Every view checks ``allowed()``; outcome assessors hold none of the actions used
here, so each page refuses them (403) and no page reads outcome ratings."""
