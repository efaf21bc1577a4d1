// Timer unit templates imported `with { type: "text" }` are strings, embedded in the compiled binary.
declare module "*.timer" {
  const text: string;
  export default text;
}
