"""The addons app's pages and API (Addons, Catalogs), and the conventions every app's API shares
(`api_conventions`, `json_parser`): the bottom app holds those so that each app above can build on
them without importing sideways or up."""
