"""Text-to-motion: the latent denoiser's sampler, the timeline composer and path following."""
