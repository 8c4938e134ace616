// What a compiler asks for in development builds (Vite's, in vitest): the same runtime.
export { Fragment, jsx as jsxDEV, type JSX } from './jsx-runtime';
