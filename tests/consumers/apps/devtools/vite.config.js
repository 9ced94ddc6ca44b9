// Built with NODE_ENV=development: React's development build reports what the production build
// keeps quiet (a missing key, an element where the DOM allows none) as console errors, which fail
// the test.
export default {};
