import './zod-jitless.js'; // must stay the first import (see the file)
import { mount } from 'svelte';
import App from './App.svelte';
import './global.css';

const target = document.getElementById('app');
if (target === null) throw new Error('index.html has no #app element');
mount(App, { target });
