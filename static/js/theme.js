// Loaded in <head>, before the stylesheet applies, so that a light-theme page never flashes dark.
document.documentElement.dataset.theme = localStorage.getItem("theme") || "dark";
