// Well-formedness of a graph, shared by the reader and the writer: every value is defined exactly once
// (graph input, initializer or one node output), every consumed value is defined, and nodes come in
// topological order (sorted here if they do not; cycles are refused). Given the opset, every node of an
// op our engines run is also checked against the ONNX spec's rules for it (src/onnx/op-rules.ts), so
// no engine ever sees attributes the spec does not allow.
import type { GraphNode, IrTensor, ValueInfo } from '../graph/ir';
import { OnnxError } from './error';
import { checkOpRules } from './op-rules';

export interface GraphParts {
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  readonly nodes: readonly GraphNode[];
  readonly initializers: ReadonlyMap<string, IrTensor>;
  /** The default domain's opset: when given, nodes are checked against their op's rules for it. */
  readonly opset?: number;
  /** ONNX element types ('FLOAT', 'DOUBLE', 'INT32'...) of initializers and constants as the file has them. */
  readonly elemTypes?: ReadonlyMap<string, string>;
}

const label = (n: GraphNode): string => `'${n.name}' (${n.op})`;

/** Checks the graph and returns its nodes in topological order (the same array when already ordered). */
export function checkAndOrderNodes(g: GraphParts): readonly GraphNode[] {
  const sources = new Map<string, string>(); // value name -> what defines it, for messages
  for (const input of g.inputs) {
    if (input.name === '') throw new OnnxError('a graph input has an empty name');
    if (sources.has(input.name)) throw new OnnxError(`graph input '${input.name}' is declared twice`);
    if (g.initializers.has(input.name)) {
      throw new OnnxError(`'${input.name}' is both a graph input and an initializer`);
    }
    sources.set(input.name, 'a graph input');
  }
  for (const name of g.initializers.keys()) {
    if (name === '') throw new OnnxError('an initializer has an empty name');
    sources.set(name, 'an initializer');
  }

  const nodeNames = new Set<string>();
  const producer = new Map<string, number>();
  g.nodes.forEach((node, i) => {
    if (nodeNames.has(node.name)) throw new OnnxError(`two nodes are named '${node.name}'`);
    nodeNames.add(node.name);
    for (const out of node.outputs) {
      if (out === '') continue; // an omitted optional output
      const src = sources.get(out);
      if (src !== undefined) throw new OnnxError(`node ${label(node)} output '${out}' redefines ${src}`);
      const other = producer.get(out);
      if (other !== undefined) {
        throw new OnnxError(`value '${out}' is produced by two nodes: ${label(g.nodes[other]!)} and ${label(node)}`);
      }
      producer.set(out, i);
    }
  });

  for (const node of g.nodes) {
    for (const input of node.inputs) {
      if (input !== '' && !sources.has(input) && !producer.has(input)) {
        throw new OnnxError(
          `node ${label(node)} consumes '${input}', which is not a graph input, an initializer or any node's output`,
        );
      }
    }
  }
  const outputNames = new Set<string>();
  for (const out of g.outputs) {
    if (outputNames.has(out.name)) throw new OnnxError(`graph output '${out.name}' is declared twice`);
    outputNames.add(out.name);
    if (!sources.has(out.name) && !producer.has(out.name)) {
      throw new OnnxError(`graph output '${out.name}' is not a graph input, an initializer or any node's output`);
    }
  }

  const ordered = isOrdered(g.nodes, producer) ? g.nodes : topologicalOrder(g.nodes, producer);
  if (g.opset !== undefined) checkOpRules(ordered, g.opset, g);
  return ordered;
}

function isOrdered(nodes: readonly GraphNode[], producer: ReadonlyMap<string, number>): boolean {
  return nodes.every((node, i) => node.inputs.every((v) => (producer.get(v) ?? -1) < i));
}

/**
 * Depth-first post-order over producers, roots taken in file order, so an almost-ordered graph keeps
 * its order. Iterative, so a 10k-node chain cannot overflow the stack.
 */
function topologicalOrder(nodes: readonly GraphNode[], producer: ReadonlyMap<string, number>): GraphNode[] {
  const NEW = 0, OPEN = 1, DONE = 2;
  const state = new Uint8Array(nodes.length);
  const order: GraphNode[] = [];
  for (let root = 0; root < nodes.length; root++) {
    if (state[root] !== NEW) continue;
    const stack: { node: number; next: number }[] = [{ node: root, next: 0 }];
    state[root] = OPEN;
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const inputs = nodes[top.node]!.inputs;
      if (top.next < inputs.length) {
        const p = producer.get(inputs[top.next++]!);
        if (p === undefined || state[p] === DONE) continue;
        if (state[p] === OPEN) {
          const start = stack.findIndex((f) => f.node === p);
          const cycle = [...stack.slice(start).map((f) => nodes[f.node]!), nodes[p]!];
          // The stack runs consumer -> producer; print it in data-flow order.
          // Long cycles are shown by their ends, so the message stays one readable line.
          const names = cycle.reverse().map(label);
          const shown = names.length <= 8 ? names : [...names.slice(0, 4), `... ${names.length - 7} more ...`, ...names.slice(-3)];
          throw new OnnxError(`nodes form a cycle: ${shown.join(' -> ')}`);
        }
        state[p] = OPEN;
        stack.push({ node: p, next: 0 });
      } else {
        state[top.node] = DONE;
        order.push(nodes[top.node]!);
        stack.pop();
      }
    }
  }
  return order;
}
