"""Where what people watch comes from: the Stremio account API and Trakt (plain Python clients on
`requests`, base URLs injected), and the pure rules that turn what they say into targets to warm."""
