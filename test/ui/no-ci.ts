// Imported before anything that loads Ink. Under CI=true Ink draws no frame
// until it unmounts; tests of the real terminal path need the frames a
// person would see, so they run as outside CI.
delete process.env.CI;
delete process.env.CONTINUOUS_INTEGRATION;
