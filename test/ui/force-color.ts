// Imported first by UI tests, before Ink loads chalk: selection and dimming
// are only visible as ANSI attributes, and a test runner's pipe has no colours.
process.env.FORCE_COLOR = "1";
