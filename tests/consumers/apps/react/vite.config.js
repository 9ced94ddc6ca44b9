// Built with NODE_ENV=development (React's development build, where <Profiler> counts commits).
export default {};
