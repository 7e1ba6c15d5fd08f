// Svelte components imported by the component tests (compiled by the Svelte Vite plugin).
declare module '*.svelte' {
  import type { Component } from 'svelte';
  const component: Component<any>;
  export default component;
}
