"""Your own torch policy: an nn.Module with a residual block, registered by name and evolved for
a few generations on the quickstart task through the Python API.

    python examples/own_torch_policy.py [--generations 20] [--width 32] [--out runs/own_policy]
"""

from __future__ import annotations

import argparse

import torch
from pbml_policies import make_policy, register_policy
from torch import nn

import pbml_control


# At module level, so the rollout workers (which import this script) register it too.
@register_policy("residual_net")
def residual_net(obs_dim: int, act_dim: int, width: int = 32) -> nn.Module:
    """(obs_dim, act_dim, **options) -> nn.Module; its children with weights are the genome's
    modules (encoder, block, head), each mutating with its own radius and gate."""

    class ResidualNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Linear(obs_dim, width)
            self.block = nn.Linear(width, width)
            self.head = nn.Linear(width, act_dim)
            with torch.no_grad():  # start near zero actions, as the built-in policies do
                self.head.weight.mul_(0.01)
                self.head.bias.zero_()

        def forward(self, obs):  # one observation -> raw outputs (tanh is applied after)
            h = torch.tanh(self.encoder(obs))
            return self.head(h + torch.tanh(self.block(h)))

    return ResidualNet()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=20)
    parser.add_argument("--population", type=int, default=32)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--out", default="runs/own_policy")
    args = parser.parse_args()

    policy = make_policy("residual_net", obs_dim=17, act_dim=6, width=args.width)  # HalfCheetah
    print(f"genome modules {policy.module_names}, sizes {policy.module_sizes}")
    settings = ["policy.name='residual_net'", f"policy.kwargs={{width={args.width}}}"]
    run = pbml_control.train("quickstart", args.out, set=settings, population=args.population,
                             generations=args.generations, overwrite=True)  # fmt: skip
    best = run.evaluate(episodes=3)[0]
    mean, _, low, high = best.interval()
    print(
        f"best genome (lineage {best.lineage}): training fitness {best.fitness:.2f}; "
        f"on 3 fresh seeds {mean:.2f} [{low:.2f}, {high:.2f}]"
    )
    record = run.best_policy()
    module = record.policy.torch_module(record.flat)  # tanh(your module), with evolved weights
    name = type(module.net).__name__
    print(f"{name} with {record.policy.num_params} evolved weights, from {run.path}")


if __name__ == "__main__":  # rollout workers start with forkserver: guard the entry
    main()
