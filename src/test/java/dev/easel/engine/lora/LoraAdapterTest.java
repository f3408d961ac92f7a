package dev.easel.engine.lora;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.easel.engine.lora.LoraAdapter.Component;
import dev.easel.engine.lora.LoraAdapter.Module;
import dev.easel.fixtures.SafetensorsFiles;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class LoraAdapterTest {

    private static LoraAdapter adapter(String... names) {
        Map<String, SafetensorsFiles.Entry> t = SafetensorsFiles.ordered();
        for (String n : names) {
            t.put(n, new SafetensorsFiles.Entry("F32", new long[] {1}, new float[] {1}));
        }
        return LoraAdapter.of(Safetensors.parse("a.safetensors", SafetensorsFiles.bytes(t, Map.of())));
    }

    private static List<String> paths(LoraAdapter a) {
        return a.modules().stream().map(m -> m.component() + " " + m.path()).toList();
    }

    @Test
    void kohyaAndPeftNamesOfTheSameModulesAgree() {
        LoraAdapter kohya = adapter(
                "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight",
                "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight",
                "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.alpha",
                "lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight",
                "lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight",
                "lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_down.weight",
                "lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_up.weight");
        LoraAdapter peft = adapter(
                "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.lora_A.weight",
                "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.lora_B.weight",
                "text_encoder.text_model.encoder.layers.0.self_attn.q_proj.lora_A.weight",
                "text_encoder.text_model.encoder.layers.0.self_attn.q_proj.lora_B.weight",
                "text_encoder_2.text_model.encoder.layers.0.mlp.fc1.lora_A.weight",
                "text_encoder_2.text_model.encoder.layers.0.mlp.fc1.lora_B.weight");
        assertEquals(paths(kohya), paths(peft));
        assertThat(paths(kohya)).containsExactly(
                "UNET down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k",
                "TEXT_ENCODER encoder_layers_0_self_attn_q_proj",
                "TEXT_ENCODER_2 encoder_layers_0_mlp_fc1");
        Module k = kohya.modules().get(0);
        assertEquals(Optional.of("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.alpha"), k.alpha());
        assertEquals(Optional.empty(), peft.modules().get(0).alpha());
    }

    @Test
    void peftPrefixesAreOptional() {
        LoraAdapter a = adapter(
                "base_model.model.down_blocks.1.attentions.0.proj_in.lora_A.weight",
                "base_model.model.down_blocks.1.attentions.0.proj_in.lora_B.weight",
                "mid_block.attentions.0.transformer_blocks.0.attn1.to_q.lora_A.weight",
                "mid_block.attentions.0.transformer_blocks.0.attn1.to_q.lora_B.weight",
                "unet.up_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0.lora.down.weight",
                "unet.up_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0.lora.up.weight");
        assertThat(paths(a)).containsExactly("UNET down_blocks_1_attentions_0_proj_in",
                "UNET mid_block_attentions_0_transformer_blocks_0_attn1_to_q",
                "UNET up_blocks_0_attentions_0_transformer_blocks_0_attn1_to_out_0");
        assertThat(a.modules()).allMatch(m -> m.component() == Component.UNET);
    }

    @Test
    void otherAdapterKindsAndHalfModulesAreRefusedNamingTheTensor() {
        assertThatThrownBy(() -> adapter("lora_unet_x.hada_w1_a", "lora_unet_x.hada_w1_b"))
                .hasMessageContaining("a.safetensors").hasMessageContaining("'lora_unet_x.hada_w1_a'")
                .hasMessageContaining("LoHa");
        assertThatThrownBy(() -> adapter("lora_unet_x.lora_down.weight", "lora_unet_x.alpha"))
                .hasMessageContaining("module 'lora_unet_x'").hasMessageContaining("not both");
        assertThatThrownBy(() -> adapter()).hasMessageContaining("no LoRA tensors");
    }

    @Test
    void canonicalPathsOfOnnxNamesMeetTheAdapters() {
        assertEquals("down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k",
                LoraAdapter.canonical("/down_blocks.0/attentions.0/transformer_blocks.0/attn2/to_k"));
        assertEquals("encoder_layers_0_self_attn_q_proj", LoraAdapter.canonical("/text_model/encoder/layers.0/self_attn/q_proj"));
        assertEquals("encoder_layers_0_self_attn_q_proj", LoraAdapter.canonical("text_model.encoder.layers.0.self_attn.q_proj"));
    }
}
