// Loaded in <head>, before the stylesheet applies, so that a page never flashes in the other theme.
// The theme the user picked (the toggle), else the operating system's (prefers-color-scheme).
window.systemTheme = () => (matchMedia("(prefers-color-scheme: light)").matches ? "light" : "dark");
document.documentElement.dataset.theme = localStorage.getItem("theme") || window.systemTheme();
