// Files imported `with { type: "text" }` are strings, embedded in the compiled binary.
declare module "*.service" {
  const text: string;
  export default text;
}
// Timer unit templates too.
declare module "*.timer" {
  const text: string;
  export default text;
}
