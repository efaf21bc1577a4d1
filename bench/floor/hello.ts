// The Bun floor for start-up: a compiled program that prints one line and exits.
console.log("hello");
